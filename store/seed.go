package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// SeedOptions say what SeedSynthetic makes.
type SeedOptions struct {
	Teams int    // how many synthetic teams, one finished submission each
	Phase string // phase name; "" for the challenge's first phase
	Seed  uint64 // random seed: the same seed makes the same numbers
	Now   time.Time
}

// SeedResult says what SeedSynthetic made.
type SeedResult struct {
	PhaseID, DatasetID int64
	Device             string
	Teams              int
}

// SeedSynthetic fills a challenge's phase with synthetic teams, each with
// one finished submission and a made-up result, for demos, screenshots and
// load tests. Everything it makes is marked: users and teams are named
// "synthetic-…", submissions have synthetic = true, and every page showing
// them says so. Results are made up to look like a real efficient-SR field
// (runtime driven mostly by activations and conv layers, barely by
// parameters; a tenth of the teams below the usual PSNR gate), measured "on"
// the device of the phase's newest baseline so that they rank. One
// transaction: all or nothing.
func (s *Store) SeedSynthetic(ctx context.Context, challengeID int64, o SeedOptions) (SeedResult, error) {
	var res SeedResult
	if o.Teams <= 0 || o.Teams > 100000 {
		return res, fmt.Errorf("seed: --teams must be between 1 and 100000, not %d", o.Teams)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		q := `SELECT p.id, pd.dataset_id FROM phases p JOIN phase_datasets pd ON pd.phase_id = p.id AND pd.is_primary
			WHERE p.challenge_id = $1 AND ($2 = '' OR p.name = $2) ORDER BY p.position, p.id LIMIT 1`
		if err := tx.QueryRow(ctx, q, challengeID, o.Phase).Scan(&res.PhaseID, &res.DatasetID); err != nil {
			return translate(err, "phase with a primary dataset")
		}
		err := tx.QueryRow(ctx, `SELECT r.device FROM results r JOIN submissions s ON s.id = r.submission_id
			WHERE s.dataset_id = $1 AND s.is_baseline AND s.status = 'finished' ORDER BY s.created_at DESC, s.id DESC LIMIT 1`,
			res.DatasetID).Scan(&res.Device)
		if err == pgx.ErrNoRows {
			res.Device = "synthetic"
		} else if err != nil {
			return translate(err, "baseline device")
		}
		var start int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM teams WHERE challenge_id = $1 AND name LIKE 'synthetic-%'`,
			challengeID).Scan(&start); err != nil {
			return translate(err, "synthetic teams")
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(challengeID)))
		n := o.Teams
		names := make([]string, n)
		for i := range names {
			names[i] = "synthetic-" + strconv.FormatInt(challengeID, 10) + "-" + fmt.Sprintf("%05d", start+i+1)
		}
		userIDs, err := collectIDs(tx.Query(ctx, `INSERT INTO users (email, username, password_hash)
			SELECT n || '@synthetic.invalid', n, '!synthetic: no password' FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i
			RETURNING id`, names))
		if err != nil {
			return translate(err, "synthetic users")
		}
		teamIDs, err := collectIDs(tx.Query(ctx, `INSERT INTO teams (challenge_id, name, solo)
			SELECT $1, n, true FROM unnest($2::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i RETURNING id`, challengeID, names))
		if err != nil {
			return translate(err, "synthetic teams")
		}
		if len(userIDs) != n || len(teamIDs) != n {
			return fmt.Errorf("seed: %d users, %d teams for %d names", len(userIDs), len(teamIDs), n)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, challenge_id, user_id)
			SELECT t, $1, u FROM unnest($2::bigint[], $3::bigint[]) AS x(t, u)`, challengeID, teamIDs, userIDs); err != nil {
			return translate(err, "synthetic team members")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registrations (challenge_id, user_id, terms_accepted_at, decided_at)
			SELECT $1, u, $3, $3 FROM unnest($2::bigint[]) AS x(u)`, challengeID, userIDs, o.Now); err != nil {
			return translate(err, "synthetic registrations")
		}
		m := synthesize(rng, n, o.Now)
		subIDs, err := collectIDs(tx.Query(ctx, `INSERT INTO submissions (challenge_id, user_id, dataset_id, phase_id, team_id, label,
				model_sha256, model_bytes, profile, status, synthetic, created_at, started_at, finished_at)
			SELECT $1, u, $2, $3, t, 'synthetic', encode(sha256(convert_to('synthetic ' || t, 'UTF8')), 'hex'), 1000, p, 'finished', true, c, c, c
			FROM unnest($4::bigint[], $5::bigint[], $6::jsonb[], $7::timestamptz[]) WITH ORDINALITY AS x(u, t, p, c, i) ORDER BY i
			RETURNING id`, challengeID, res.DatasetID, res.PhaseID, userIDs, teamIDs, m.profiles, m.created))
		if err != nil {
			return translate(err, "synthetic submissions")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO results (submission_id, psnr, ssim, runtime_ms, runtime_std_ms, runtime_min_ms,
				runtime_max_ms, repeats, peak_memory_mb, device, per_image, created_at)
			SELECT s, p, ss, r, r * 0.02, r * 0.97, r * 1.04, 3, mem, $1, '[]', c
			FROM unnest($2::bigint[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::timestamptz[]) AS x(s, p, ss, r, mem, c)`,
			res.Device, subIDs, m.psnr, m.ssim, m.runtime, m.memory, m.created); err != nil {
			return translate(err, "synthetic results")
		}
		res.Teams = n
		return nil
	})
	return res, err
}

func collectIDs(rows pgx.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// synthetic holds made-up measurements, one per team.
type synthetic struct {
	profiles                    [][]byte
	psnr, ssim, runtime, memory []float64
	created                     []time.Time
}

// synthesize makes n plausible entries: log-normal parameters around
// 0.3 M, FLOPs roughly proportional to them, activations and conv layers
// drawn independently, and a runtime that follows activations and conv
// layers (as NTIRE 2023's table does: Spearman ρ 0.92 and 0.86) far more
// than FLOPs.
func synthesize(rng *rand.Rand, n int, now time.Time) synthetic {
	var m synthetic
	for i := 0; i < n; i++ {
		ln := func(mu, sigma float64) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }
		params := ln(math.Log(0.3e6), 0.45)
		flopsKAIR := params * 61e3 * ln(0, 0.15) // ≈ 256²·… per parameter, as in RFDN-like nets
		flopsFvcore := flopsKAIR * 0.5 * ln(0, 0.03)
		acts := ln(math.Log(90e6), 0.4)
		conv := math.Round(20 + 120*rng.Float64())
		runtime := 0.18*math.Pow(acts/1e6, 0.9)*math.Pow(conv/50, 0.45)*ln(0, 0.15) + 2
		psnr := 29.05 + 0.12*rng.NormFloat64()
		if rng.Float64() < 0.1 {
			psnr -= 0.3 + 0.5*rng.Float64() // below a typical gate
		}
		prof, _ := json.Marshal(map[string]any{"params": int64(params), "flops_kair": int64(flopsKAIR), "flops_fvcore": int64(flopsFvcore),
			"activations": int64(acts), "conv_layers": int(conv), "synthetic": true})
		m.profiles = append(m.profiles, prof)
		m.psnr = append(m.psnr, math.Round(psnr*1e4)/1e4)
		m.ssim = append(m.ssim, math.Round((0.80+0.02*rng.NormFloat64())*1e4)/1e4)
		m.runtime = append(m.runtime, math.Round(runtime*100)/100)
		m.memory = append(m.memory, math.Round(ln(math.Log(300), 0.5)*10)/10)
		// Spread over the last 30 days, more towards the end.
		age := time.Duration(math.Pow(rng.Float64(), 2) * float64(30*24*time.Hour))
		m.created = append(m.created, now.Add(-age).UTC())
	}
	return m
}
