package metrics

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// Who may read /metrics: the token (exactly, as a Bearer), an address in
// an allowed network (IPv4-mapped IPv6 included); nobody when neither is
// configured.
func TestAccess(t *testing.T) {
	both := Access{Token: "tok-123", Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, c := range []struct {
		name   string
		a      Access
		remote string
		auth   string
		want   bool
	}{
		{"nothing configured", Access{}, "127.0.0.1:1", "Bearer ", false},
		{"token", both, "192.0.2.1:5", "Bearer tok-123", true},
		{"wrong token", both, "192.0.2.1:5", "Bearer tok-124", false},
		{"token prefix", both, "192.0.2.1:5", "Bearer tok-12", false},
		{"basic auth", both, "192.0.2.1:5", "Basic tok-123", false},
		{"network", both, "10.1.2.3:80", "", true},
		{"mapped network", both, "[::ffff:10.1.2.3]:80", "", true},
		{"v6 network", both, "[fd12::1]:80", "", true},
		{"outside", both, "11.0.0.1:80", "", false},
		{"garbage address", both, "nonsense", "", false},
		{"empty token configured", Access{Allow: both.Allow}, "192.0.2.1:5", "Bearer ", false},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = c.remote
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		if got := c.a.allowed(r); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}
