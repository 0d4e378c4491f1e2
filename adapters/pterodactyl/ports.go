package pterodactyl

import (
	"context"

	"github.com/upsell-io/upsell/hostapi"
)

// maxAllocationPages bounds the walk through a node's free allocations, in
// case a misbehaving panel keeps announcing more pages.
const maxAllocationPages = 1000

// portPicker chooses free allocations on a server's node. Allocations on
// the primary's IP come first, since players reach a server by one address.
type portPicker struct {
	conn     *conn
	node     int64
	serverID int64
	ip       string // the primary's IP; "" prefers nothing
	// candidates are free allocations not tried yet, preferred first.
	candidates []allocation
	tried      map[int64]bool
}

func newPortPicker(c *conn, srv server) *portPicker {
	return &portPicker{conn: c, node: srv.node, serverID: srv.id, ip: srv.primaryIP(), tried: map[int64]bool{}}
}

// pick returns n allocation ids not tried before, listing the node again
// when the candidates known so far do not suffice. It fails with
// CodeCapacity when the node has too few free allocations.
func (p *portPicker) pick(ctx context.Context, n int) ([]int64, error) {
	if len(p.candidates) < n {
		if err := p.list(ctx, n); err != nil {
			return nil, err
		}
	}
	if len(p.candidates) < n {
		return nil, hostapi.Errorf(hostapi.CodeCapacity,
			"pterodactyl: node %d has %d free allocation(s) for server %d, %d more port(s) needed; add allocations to the node in the panel",
			p.node, len(p.candidates), p.serverID, n)
	}
	ids := make([]int64, n)
	for i, a := range p.candidates[:n] {
		ids[i] = a.ID
		p.tried[a.ID] = true
	}
	p.candidates = p.candidates[n:]
	return ids, nil
}

// list walks the node's free allocations. It stops early once it holds
// enough on the preferred IP for every attempt Apply may make.
func (p *portPicker) list(ctx context.Context, n int) error {
	enough := n * p.conn.cfg.portAttempts
	var preferred, others []allocation
	for page := 1; page <= maxAllocationPages; page++ {
		l, err := p.conn.listFreeAllocations(ctx, p.node, page, p.conn.cfg.allocationsPerPage)
		if err != nil {
			return err
		}
		for _, d := range l.Data {
			a := d.Attributes
			if a.Assigned || p.tried[a.ID] {
				continue
			}
			if p.ip != "" && a.IP == p.ip {
				preferred = append(preferred, a)
			} else {
				others = append(others, a)
			}
		}
		last := l.Meta.Pagination.TotalPages
		if len(preferred) >= enough || len(l.Data) == 0 || page >= last {
			break
		}
	}
	p.candidates = append(preferred, others...)
	return nil
}

// release makes the ids of a failed update that srv does not hold candidates
// again, first in line: the update failed, so nothing showed them taken.
func (p *portPicker) release(srv server, ids []int64) {
	if p == nil {
		return
	}
	var back []allocation
	for _, id := range ids {
		if srv.hasAllocation(id) {
			continue
		}
		delete(p.tried, id)
		back = append(back, allocation{ID: id})
	}
	p.candidates = append(back, p.candidates...)
}
