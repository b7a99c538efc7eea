package postgres

// The books' checks (ARCHITECTURE.md "Books"), over the layout the switch gives them (internal/server):
//   - ledger 1 holds each bank's settlement account under the external key 'bank:' || code;
//   - a simulated bank's book is ledger 1000 + code, with its mirror under the key 'mirror' (kind mirror);
//     the mirror is the bank's asset, so its debit balance equals the settlement account's credit balance,
//     posted and pending alike (a settlement credited is a mirror debited, in the same chain);
//   - a bank played as external has the row ('switch.bank', code) with body->>'mode' = 'external': its book,
//     if any, is frozen and not checked, since the rails move only its settlement account;
//   - each deferred rail R keeps a clearing account 'clearing:' || R in every book, and the rail records each
//     bank's unsettled net as the row ('clearing.position', R || ':' || code) with body->>'net_rial' (positive:
//     the bank owes). A book's clearing balance (credits less debits: what its customers paid in, less what
//     was paid out to them) equals its bank's position plus its legs still to book (body->>'pending_rial':
//     PAYA's obligations come at acceptance, some customer legs later), and a rail's positions sum to zero across banks. A
//     bank played as external has a frozen book here too: its position moves without it, so its clearing
//     accounts are not checked (its positions still count towards its rail's sum);
//   - each deferred rail's net-settlement account in ledger 1 (external key 'cbi:net:' || R) is only a
//     passage inside one set's netted chain: it holds nothing, posted or pending;
//   - the transit accounts 'satna:offset' are at zero unless a large offsetting set is being completed;
//   - PAYA's legs still to book (each position's pending_rial) are exactly what its entries say: an entry
//     (table paya_entries) not returned whose payer leg is not booked (payer_done) counts −amount at its
//     payer's bank, whose payee leg is not booked +amount at its payee's bank; a returned entry's legs were
//     cancelled by its return.

// bookSources are the audit's scans of the books.
var bookSources = []auditSource{{
	name: "books: mirrors",
	from: `(SELECT m.ledger, m.id, m.debits_posted AS mdp, m.credits_posted AS mcp, m.debits_pending AS mdq,
			m.credits_pending AS mcq, s.id AS sid, s.debits_posted AS sdp, s.credits_posted AS scp,
			s.debits_pending AS sdq, s.credits_pending AS scq
		FROM accounts m
		JOIN accounts s ON s.ledger = 1 AND s.external_key = 'bank:' || lpad((m.ledger - 1000)::text, 3, '0')
		LEFT JOIN rail_objects b ON b.kind = 'switch.bank' AND b.id = lpad((m.ledger - 1000)::text, 3, '0')
		WHERE m.external_key = 'mirror' AND m.ledger > 1000 AND coalesce(b.body->>'mode', 'simulated') <> 'external') x`,
	checks: []auditCheck{{
		bad: "x.mdp::numeric - x.mcp <> x.scp::numeric - x.sdp",
		finding: "format('book %s: mirror %s has posted balance %s but settlement account %s has %s', x.ledger, x.id, " +
			"x.mdp::numeric - x.mcp, x.sid, x.scp::numeric - x.sdp)",
	}, {
		bad: "x.mdq <> x.scq OR x.mcq <> x.sdq",
		finding: "format('book %s: mirror %s has pending debits/credits %s/%s but settlement account %s has credits/debits %s/%s', " +
			"x.ledger, x.id, x.mdq, x.mcq, x.sid, x.scq, x.sdq)",
	}},
}, {
	name: "books: clearing accounts",
	from: `(SELECT c.ledger, c.id, c.external_key, c.credits_posted::numeric - c.debits_posted AS held,
			coalesce((p.body->>'net_rial')::numeric, 0) AS net, coalesce((p.body->>'pending_rial')::numeric, 0) AS pending
		FROM accounts c
		LEFT JOIN rail_objects p ON p.kind = 'clearing.position'
			AND p.id = substr(c.external_key, 10) || ':' || lpad((c.ledger - 1000)::text, 3, '0')
		LEFT JOIN rail_objects b ON b.kind = 'switch.bank' AND b.id = lpad((c.ledger - 1000)::text, 3, '0')
		WHERE c.external_key LIKE 'clearing:%' AND c.ledger > 1000 AND coalesce(b.body->>'mode', 'simulated') <> 'external') c`,
	checks: []auditCheck{{
		bad: "c.held <> c.net + c.pending",
		finding: "format('book %s: clearing account %s (%s) holds %s rial but the rail''s unsettled net for the bank is %s and its legs pending %s', " +
			"c.ledger, c.id, c.external_key, c.held, c.net, c.pending)",
	}},
}, {
	// A large SATNA offsetting set moves its nets through the transit accounts 'satna:offset' (ledger 1 and
	// each book) at its commit point and its orders' legs after it (internal/server/satna_offset.go): between
	// the two, chunks are pending; otherwise every transit account is at zero.
	name: "books: offsetting transit",
	from: `(SELECT a.ledger, a.id, a.credits_posted::numeric - a.debits_posted AS held, a.credits_pending, a.debits_pending
		FROM accounts a WHERE a.external_key = 'satna:offset'
		AND NOT EXISTS (SELECT 1 FROM rail_objects WHERE kind = 'satna.offset.chunk' AND status = 'pending')) t`,
	checks: []auditCheck{{
		bad:     "t.held <> 0 OR t.credits_pending <> 0 OR t.debits_pending <> 0",
		finding: "format('ledger %s: offsetting transit %s holds %s rial with no offsetting set being completed', t.ledger, t.id, t.held)",
	}},
}, {
	name: "books: net-settlement accounts",
	from: `(SELECT id, external_key, credits_posted::numeric - debits_posted AS held, debits_pending, credits_pending
		FROM accounts WHERE ledger = 1 AND external_key LIKE 'cbi:net:%') n`,
	checks: []auditCheck{{
		bad: "n.held <> 0 OR n.debits_pending <> 0 OR n.credits_pending <> 0",
		finding: "format('ledger 1: net-settlement account %s (%s) holds %s rial (pending debits/credits %s/%s) after its sets', " +
			"n.id, n.external_key, n.held, n.debits_pending, n.credits_pending)",
	}},
}, {
	// PAYA's pending legs, from its entries, against the positions' pending_rial (internal/server/paya*.go).
	name: "books: paya pending legs",
	from: `(SELECT coalesce(e.bank, p.bank) AS bank, coalesce(e.due, 0) AS due, coalesce(p.pending, 0) AS pending
		FROM (SELECT bank, sum(d) AS due FROM (
				SELECT payer_bank AS bank, -amount::numeric AS d FROM paya_entries WHERE status <> 'returned' AND NOT payer_done
				UNION ALL
				SELECT payee_bank, amount::numeric FROM paya_entries WHERE status <> 'returned' AND NOT payee_done) l
			GROUP BY bank) e
		FULL JOIN (SELECT split_part(id, ':', 2) AS bank, (body->>'pending_rial')::numeric AS pending FROM rail_objects
			WHERE kind = 'clearing.position' AND split_part(id, ':', 1) = 'paya') p ON p.bank = e.bank) q`,
	checks: []auditCheck{{
		bad:     "q.due <> q.pending",
		finding: "format('paya: bank %s has legs pending %s rial by its entries but its position says %s', q.bank, q.due, q.pending)",
	}},
}, {
	name: "books: clearing positions",
	from: `(SELECT split_part(id, ':', 1) AS rail, sum((body->>'net_rial')::numeric) AS total
		FROM rail_objects WHERE kind = 'clearing.position' GROUP BY 1) q`,
	checks: []auditCheck{{
		bad:     "q.total <> 0",
		finding: "format('rail %s: unsettled nets sum to %s, not zero', q.rail, q.total)",
	}},
}}
