package pterodactyl

import (
	"strconv"
	"sync"
	"time"
)

// readHandoff lets the Apply that directly follows a Read of the same server
// reuse the server document that Read fetched, instead of fetching it again.
//
// Why: the host computes an absolute target from a Read (current memory +
// 1024) and applies it a few milliseconds later, holding its per-service
// lock in between. Without the handoff that costs GET, GET, PATCH; with it,
// GET and PATCH, the panel's reply to the PATCH being the read-back. The
// panel's budget is 240 requests a minute, so a backlog drains a third
// faster.
//
// Safety: a handed-off document is used once, only if it is younger than
// the configured age (2 s by default, 0 disables the handoff) and no PATCH
// went through this adapter to that panel since it was read. A change made
// outside upsell in that window would be overwritten, as with any
// read-modify-write on this full-replace API; the PATCH reply still verifies
// the target.
type readHandoff struct {
	mu      sync.Mutex
	entries map[string]handedOff
}

type handedOff struct {
	srv    server
	at     time.Time
	writes uint64
}

func newReadHandoff() *readHandoff { return &readHandoff{entries: map[string]handedOff{}} }

// handoffKey names a server as the ServerRef names it.
func handoffKey(endpoint string, id int64, serviceID uint64) string {
	if id != 0 {
		return endpoint + "#id#" + strconv.FormatInt(id, 10)
	}
	return endpoint + "#ext#" + strconv.FormatUint(serviceID, 10)
}

// put keeps a document read at now while writes PATCHes had been sent.
func (h *readHandoff) put(key string, srv server, now time.Time, writes uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, e := range h.entries {
		if now.Sub(e.at) > time.Minute {
			delete(h.entries, k) // bound the map by age, not size
		}
	}
	h.entries[key] = handedOff{srv: srv, at: now, writes: writes}
}

// take returns the document for key once, if it is fresh enough and no
// PATCH was sent since it was read.
func (h *readHandoff) take(key string, now time.Time, maxAge time.Duration, writes uint64) (server, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.entries[key]
	delete(h.entries, key)
	if !ok || maxAge <= 0 || now.Sub(e.at) > maxAge || e.writes != writes {
		return server{}, false
	}
	return e.srv, true
}
