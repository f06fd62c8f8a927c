# Median and range of new/old over the rounds of an A/B benchmark whose
# sub-benchmarks are named old/roundN and new/roundN (BenchmarkScoringAB).
$1 ~ /\/(old|new)\/round[0-9]+/ {
	split($1, p, "/")
	side = p[2]; r = p[3]; sub(/-[0-9]+$/, "", r)
	t[side, r] = $3
	rounds[r] = 1
}
END {
	n = 0
	for (r in rounds) if ((("old", r) in t) && (("new", r) in t)) q[++n] = t["new", r] / t["old", r]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (q[j] < q[i]) { x = q[i]; q[i] = q[j]; q[j] = x }
	if (n == 0) { print "no rounds"; exit 1 }
	med = (n % 2) ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
	printf "new/old over %d rounds: median %.3f, range %.3f-%.3f\n", n, med, q[1], q[n]
}
