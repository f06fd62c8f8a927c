package web

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/srarena/srarena/handlers"
)

// errBadBytes: PostgreSQL text cannot hold a NUL byte or invalid UTF-8, so
// such a value would fail deep inside a query as a server error; it is
// refused at the door instead.
var errBadBytes = handlers.Errorf(http.StatusBadRequest,
	"The request contains a NUL byte or invalid UTF-8 in its address or a form field; nothing here accepts that. Remove it and try again.")

// cleanText reports whether s can be stored and compared as text.
func cleanText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

func cleanValues(vs map[string][]string) bool {
	for k, list := range vs {
		if !cleanText(k) {
			return false
		}
		for _, v := range list {
			if !cleanText(v) {
				return false
			}
		}
	}
	return true
}

// rejectBadBytes refuses a request whose path or query carries a NUL byte or
// invalid UTF-8 (400). Form bodies are checked where they are parsed
// (csrfForm), multipart fields by the upload parser, JSON by the API.
func rejectBadBytes(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q, err := urlQuery(r)
			if !cleanText(r.URL.Path) || err != nil || !cleanValues(q) {
				ea.serve(w, r, errBadBytes)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func urlQuery(r *http.Request) (map[string][]string, error) {
	return url.ParseQuery(r.URL.RawQuery)
}

// Timeouts of the HTTP server. A body must arrive at MinBodyRate after a
// grace period (a slow link still uploads a large model; a client trickling
// a byte every few seconds is cut off), headers within ReadHeaderTimeout,
// and an idle keep-alive connection is closed after IdleTimeout.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyGrace         = 20 * time.Second
	DefaultMinBodyRate       = 8 << 10 // bytes per second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConnsPerIP     = 64
)

// minRateBody enforces the body's minimum average rate with the
// connection's read deadline: after n bytes, reading may last until start +
// grace + n/rate. A client that sends fast early earns time; one that
// trickles is cut off at the deadline, however many connections it opens.
type minRateBody struct {
	body  interface{ Read([]byte) (int, error) }
	close func() error
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  float64
	n     int64
}

func (b *minRateBody) Read(p []byte) (int, error) {
	k, err := b.body.Read(p)
	b.n += int64(k)
	dl := b.start.Add(b.grace + time.Duration(float64(b.n)/b.rate*float64(time.Second)))
	b.rc.SetReadDeadline(dl) //nolint:errcheck // not every writer supports it (tests); the listener then has no deadline
	return k, err
}

func (b *minRateBody) Close() error { return b.close() }

// bodyDeadline sets the read deadline of each request's body (see
// minRateBody). It stays set after the handler returns, while the server
// drains what the handler left unread; the server sets its own idle deadline
// before it waits for the next request.
func bodyDeadline(grace time.Duration, rate int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			rc := http.NewResponseController(w)
			now := time.Now()
			rc.SetReadDeadline(now.Add(grace)) //nolint:errcheck
			r.Body = &minRateBody{body: r.Body, close: r.Body.Close, rc: rc, start: now, grace: grace, rate: float64(rate)}
			next.ServeHTTP(w, r)
		})
	}
}

// perIPListener caps the open connections of one client address: beyond the
// cap a new connection is closed at once, so one address cannot hold
// thousands of slow connections (and their goroutines and buffers) open.
// Behind a reverse proxy every connection has the proxy's address; set the
// cap to 0 (off) there and let the proxy limit clients.
type perIPListener struct {
	net.Listener
	max int
	mu  sync.Mutex
	n   map[string]int
}

func limitPerIP(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &perIPListener{Listener: ln, max: max, n: map[string]int{}}
}

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		l.mu.Lock()
		if l.n[ip] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.n[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// fromTrustedProxy takes the client's address from X-Forwarded-For when the
// connection comes from a trusted reverse proxy: the rightmost address that
// is not itself a trusted proxy (the proxies append; anything left of that
// the client could have forged). Every per-address limit (logins, sign-ups)
// then counts clients, not the proxy.
func fromTrustedProxy(trusted []netip.Prefix) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		if len(trusted) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer, err := netip.ParseAddrPort(r.RemoteAddr)
			if err == nil && isTrusted(peer.Addr()) {
				hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
				for i := len(hops) - 1; i >= 0; i-- {
					a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
					if err != nil {
						break // garbage: keep the proxy's address
					}
					if !isTrusted(a) {
						r2 := *r
						r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
						r = &r2
						break
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
