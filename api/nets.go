package api

import (
	"context"
	"net/http"
	"time"
)

// NetSet is a deferred rail's net settlement as the switch recorded it: what was asked (summed), which nets
// settled and which banks were left out. It is also the body of the first answer, which a repeat of its id
// gets again.
type NetSet struct {
	ID          string         `json:"id"`
	Rail        string         `json:"rail" enum:"paya,card" doc:"the deferred rail whose obligations these are (SHAHAB's are the card switch's)"`
	Status      string         `json:"status" enum:"settled,partial,excluded" doc:"settled: no bank left out; partial: some left out, the rest settled; excluded: every bank with an obligation left out"`
	Obligations NetObligations `json:"obligations"`
	Settled     []NetPosition  `json:"settled" doc:"the nets applied on the settlement accounts, by bank code: positive paid, negative received"`
	Excluded    []NetExclusion `json:"excluded" doc:"the banks left out, in the order the rule took them: none of their obligations settled"`
	SettledAt   time.Time      `json:"settled_at" doc:"when the set was decided"`
	Jalali      string         `json:"jalali" doc:"YYYY/MM/DD HH:MM, Tehran"`
}

// NetObligations summarise a set's obligations.
type NetObligations struct {
	Count     int    `json:"count" doc:"obligations as the rail sent them"`
	Pairs     int    `json:"pairs" doc:"distinct (from, to) pairs"`
	TotalRial int64  `json:"total_rial"`
	Digest    string `json:"digest" doc:"SHA-256 of the obligations summed by pair: a repeat of the set's id must carry the same"`
}

// NetPosition is one bank's net in a set (positive: it paid).
type NetPosition struct {
	Bank    string `json:"bank"`
	NetRial int64  `json:"net_rial"`
}

// NetExclusion is a bank left out of a set, and why.
type NetExclusion struct {
	Bank    string `json:"bank"`
	Reason  string `json:"reason" enum:"suspended,inactive,short" doc:"suspended by the operator; merged or dissolved; or unable to cover its net debit"`
	NetRial int64  `json:"net_rial" doc:"its net over the whole set as asked"`
}

// NetSetNotice is the payload of rtgs.netset.settled and rtgs.netset.excluded, sent to each bank of a set:
// its own net only.
type NetSetNotice struct {
	SetID     string    `json:"set_id"`
	Rail      string    `json:"rail"`
	Bank      string    `json:"bank"`
	Status    string    `json:"status" enum:"settled,excluded"`
	NetRial   int64     `json:"net_rial" doc:"settled: what moved on its settlement account (positive debited); excluded: its net over the set, which did not move"`
	Reason    string    `json:"reason,omitempty"`
	SettledAt time.Time `json:"settled_at"`
}

// NetSetPage is a page of sets.
type NetSetPage struct {
	NetSets    []NetSet `json:"net_sets"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// ClearingPosition is a bank's unsettled net on a deferred rail (positive: it owes).
type ClearingPosition struct {
	Rail    string `json:"rail"`
	Bank    string `json:"bank"`
	NetRial int64  `json:"net_rial"`
}

// NetsBackend serves the operator's reads of the deferred rails' net settlement.
type NetsBackend interface {
	NetSet(ctx context.Context, id string) (NetSet, error)
	NetSets(ctx context.Context, rail, cursor string, limit int) (NetSetPage, error)
	// ClearingPositions lists the non-zero positions, of one rail or (rail empty) of all.
	ClearingPositions(ctx context.Context, rail string) ([]ClearingPosition, error)
}

// RegisterNets adds the operator's routes over net settlement and clearing positions, served by b.
func RegisterNets(s *Server, b NetsBackend) {
	Register(s, route{id: "get-net-set", method: http.MethodGet, path: "/v1/operator/rtgs/netsets/{id}",
		summary: "One net settlement of a deferred rail", tag: "operator", access: accessOperator, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, _ Principal, in *struct {
			ID string `path:"id" maxLength:"36"`
		}) (*NetSet, error) {
			n, err := b.NetSet(ctx, in.ID)
			return &n, err
		})
	Register(s, route{id: "list-net-sets", method: http.MethodGet, path: "/v1/operator/rtgs/netsets",
		summary: "The deferred rails' net settlements, by id", tag: "operator", access: accessOperator},
		func(ctx context.Context, _ Principal, in *struct {
			Rail string `query:"rail" enum:"paya,card"`
			PageIn
		}) (*NetSetPage, error) {
			pg, err := b.NetSets(ctx, in.Rail, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "clearing-positions", method: http.MethodGet, path: "/v1/operator/clearing/positions",
		summary: "Each bank's unsettled net on the deferred rails (positive: it owes)", tag: "operator", access: accessOperator},
		func(ctx context.Context, _ Principal, in *struct {
			Rail string `query:"rail" enum:"paya,card"`
		}) (*struct {
			Positions []ClearingPosition `json:"positions"`
		}, error) {
			ps, err := b.ClearingPositions(ctx, in.Rail)
			return &struct {
				Positions []ClearingPosition `json:"positions"`
			}{ps}, err
		})
}
