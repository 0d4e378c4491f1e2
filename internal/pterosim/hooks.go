package pterosim

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Gate is an http.Handler placed in front of a panel handler (normally a
// *Sim), for tests that need what the Sim's own knobs do not give:
//
//   - Hold stops one request on its way, before or after the panel handles
//     it, until the test releases it. A test uses it to kill the client's
//     process while the client is known to be in the middle of a call.
//   - Requests counts requests per method and URL path (the Sim counts per
//     route), for example build PATCHes per server.
//
// A held request whose client gives up (its connection closes, as when the
// client's process is killed) is dropped. Held before the panel, the panel
// never sees it; held after, the panel has handled it and kept what it
// changed, but the client never gets the answer.
//
// Gate is only meant for tests. It is safe for concurrent use.
type Gate struct {
	next http.Handler

	mu    sync.Mutex
	holds []*Hold
	paths map[string]int
}

// NewGate returns a Gate that passes every request to next.
func NewGate(next http.Handler) *Gate {
	return &Gate{next: next, paths: map[string]int{}}
}

// Phase says where a Hold stops its request.
type Phase int

const (
	// BeforePanel holds the request before the panel sees it.
	BeforePanel Phase = iota
	// AfterPanel lets the panel handle the request, then holds the answer.
	AfterPanel
)

// Hold is one request to stop, made by Gate.Hold.
type Hold struct {
	method, prefix string
	phase          Phase

	arrived, released, dropped        chan struct{}
	arriveOnce, releaseOnce, dropOnce sync.Once
}

// Hold makes the gate stop the next request whose method is method ("" for
// any) and whose URL path starts with pathPrefix, at phase. Each Hold
// catches one request; holds are matched in the order they were made.
func (g *Gate) Hold(method, pathPrefix string, phase Phase) *Hold {
	h := &Hold{method: method, prefix: pathPrefix, phase: phase,
		arrived: make(chan struct{}), released: make(chan struct{}), dropped: make(chan struct{})}
	g.mu.Lock()
	g.holds = append(g.holds, h)
	g.mu.Unlock()
	return h
}

// Arrived is closed once a request is held.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Dropped is closed if the held request's client gave up while it was held.
func (h *Hold) Dropped() <-chan struct{} { return h.dropped }

// Release lets the held request (or, if none has arrived yet, the next
// matching one) go on. It may be called more than once.
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.released) }) }

// ReleaseAll releases every hold made so far, caught or not, so that no
// request stays blocked (httptest.Server.Close waits for them).
func (g *Gate) ReleaseAll() {
	g.mu.Lock()
	holds := g.holds
	g.holds = nil
	g.mu.Unlock()
	for _, h := range holds {
		h.Release()
	}
}

// Requests returns how many requests with this method and URL path reached
// the gate, such as "PATCH", "/api/application/servers/7/build".
func (g *Gate) Requests(method, path string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paths[method+" "+path]
}

// RequestCounts returns the number of requests per "METHOD path".
func (g *Gate) RequestCounts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.paths)
}

// ServeHTTP counts the request, holds it if a Hold matches, and passes it
// on.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: the server notices a client that went away (and
	// ends the request's context) only once the body has been read.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := g.admit(r)
	switch {
	case h == nil:
		g.next.ServeHTTP(w, r)
	case h.phase == BeforePanel:
		if h.wait(r) {
			g.next.ServeHTTP(w, r)
		}
	default:
		rec := &recorder{header: http.Header{}}
		g.next.ServeHTTP(rec, r)
		if h.wait(r) {
			rec.replay(w)
		}
	}
}

// admit counts r and takes the first hold matching it.
func (g *Gate) admit(r *http.Request) *Hold {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paths[r.Method+" "+r.URL.Path]++
	for i, h := range g.holds {
		if (h.method == "" || h.method == r.Method) && strings.HasPrefix(r.URL.Path, h.prefix) {
			g.holds = append(g.holds[:i:i], g.holds[i+1:]...)
			return h
		}
	}
	return nil
}

// wait blocks until the hold is released (true) or r's client gives up
// (false).
func (h *Hold) wait(r *http.Request) bool {
	h.arriveOnce.Do(func() { close(h.arrived) })
	select {
	case <-h.released:
		return true
	case <-r.Context().Done():
		h.dropOnce.Do(func() { close(h.dropped) })
		return false
	}
}

// recorder keeps a response until it is replayed to the real writer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *recorder) replay(w http.ResponseWriter) {
	maps.Copy(w.Header(), r.header)
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes()) // a failed write means the client went away
}
