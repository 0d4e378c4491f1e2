package configoptions

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
)

// changeStates are the states an admin can search by, in the order of a
// change's life.
var changeStates = []string{ChangeAwaitingPayment, ChangePaid, ChangeApplying, ChangeApplied, ChangeFailed, ChangeFlagged, ChangeCancelled}

type changesData struct {
	Base, CSRF         string
	State              string
	Service, User      string
	States             []string
	Changes            []changeRecord
	Errors             []fieldError
	Notice, NoticeKind string
}

// consoleChanges is GET /console/changes?service=&user=&state=: the
// latest changes, newest first.
func (m *Module) consoleChanges(w http.ResponseWriter, r *http.Request) {
	m.renderChanges(w, r, http.StatusOK, "", "")
}

func (m *Module) renderChanges(w http.ResponseWriter, r *http.Request, status int, notice, kind string) {
	q := r.URL.Query()
	d := changesData{Base: pageBase(r), CSRF: web.CSRF(r), State: q.Get("state"), Service: strings.TrimSpace(q.Get("service")),
		User: strings.TrimSpace(q.Get("user")), States: changeStates, Notice: notice, NoticeKind: kind}
	var f changeFilter
	labels := map[string]string{"service": "Service", "user": "User", "state": "State"}
	bad := map[string]string{}
	if d.State != "" {
		if !contains(changeStates, d.State) {
			bad["state"] = "choose one of the states"
		} else {
			f.State = d.State
		}
	}
	for field, into := range map[string]*uint64{"service": &f.ServiceID, "user": &f.UserID} {
		if s := q.Get(field); strings.TrimSpace(s) != "" {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil || n == 0 {
				bad[field] = "enter an id such as 42"
				continue
			}
			*into = n
		}
	}
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
		d.Errors = errorList(nil, bad, labels)
	} else {
		list, err := m.listChanges(r.Context(), f)
		if err != nil {
			hostapi.Fail(w, err)
			return
		}
		d.Changes = list
	}
	web.Render(w, r, status, m.pages, "console-changes", "Option changes", d)
}

// ErrFor is the message of a refused search field.
func (d changesData) ErrFor(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// consoleChangeCancel is POST /console/changes/{id}/cancel: an unpaid
// change withdrawn by an admin, under the client's own rule
// (withdrawChange). The list is shown again with what happened.
func (m *Module) consoleChangeCancel(w http.ResponseWriter, r *http.Request) {
	s := r.PathValue("id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		hostapi.Fail(w, hostapi.Errorf(hostapi.CodeNotFound, "no such change"))
		return
	}
	c, ok, err := m.changeWhere(r.Context(), "", selectChangeByID, id)
	if err == nil && !ok {
		err = hostapi.Errorf(hostapi.CodeNotFound, "no change %d", id)
	}
	if err == nil {
		_, err = m.withdrawChange(r.Context(), c, "an admin")
	}
	switch {
	case err == nil:
		m.renderChanges(w, r, http.StatusOK, "Change "+s+" is cancelled; its invoice is left unpaid.", "good")
	case userFacing(err):
		m.renderChanges(w, r, hostapi.CodeOf(err).HTTPStatus(), errorMessage(err), "bad")
	default:
		hostapi.Fail(w, err)
	}
}
