// Package pterosim is an in-memory test double of the Pterodactyl Panel
// Application API and of its fork Pelican, served by a plain http.Handler.
//
// It is used by `upsell demo` on a loopback listener and by the Pterodactyl
// resource adapter's tests through httptest. It is meant to be a faithful
// double, not a convenient stub: an adapter that works against it should work
// against a real panel, so it reproduces the traps of the real API as well as
// its happy path. Every behaviour comes from the research notes in
// shared/reference/provisioning-apis.md (sections A.1-A.4, A.6, A.7 and D):
//
//   - Auth is "Authorization: Bearer <key>". A missing or unknown key gives
//     401 AuthenticationException, but only when the client asks for JSON.
//     Laravel's expectsJson() decides how errors are rendered. Without an
//     Accept header that names JSON, an auth failure is a 302 to
//     /auth/login, and a validation or DisplayException failure is a 302
//     back (the "302 trap").
//   - A request whose Content-Type is JSON and whose body does not parse gets
//     400 BadRequestHttpException (the IsValidJson middleware). Strings are
//     trimmed and empty strings become null (TrimStrings and
//     ConvertEmptyStringsToNull).
//   - Errors use the documented envelope
//     {"errors":[{"code","status","detail","meta"}]}, with status as a
//     string and one entry per failed rule per field on 422.
//   - Rate limiting is a fixed window per key owner (user uuid), shared by
//     every key of that owner: 240/min for Pterodactyl, 256/min for Pelican.
//     Refusals are 429 ThrottleRequestsException with Retry-After and
//     X-RateLimit-* headers. A refused request does not count as a hit.
//   - PATCH /servers/{id}/build is effectively a full replace, with the
//     validation rules of UpdateServerBuildConfigurationRequest. It uses the
//     allocation processing of BuildModificationService: already-assigned
//     or foreign-node adds are skipped silently, and removing the primary
//     needs a fallback. The whole PATCH runs in one transaction and is
//     rolled back on error.
//   - Pelican differences: oom_killer, limits only inside "limits" (the flat
//     fields are ignored, as on main after beta38), an omitted "limits"
//     leaves limits unchanged, io 0..1000, primary reassignment instead of an
//     error, 404 for a primary the server does not own, and a Wings sync HTTP
//     error that turns into a 500 after the change was committed.
//   - Node allocation listing uses the query-builder filters, including the
//     free-only meaning of filter[server_id]=0|false and the ignored empty
//     filter[server_id]=. Pagination uses the Fractal meta.pagination shape.
//
// Knobs for tests (faults, latency, a simulated Wings sync failure, and a
// concurrent "steal" of free allocations) and request counters live on Sim.
// All state is guarded by one mutex, so a Sim is safe for concurrent use.
package pterosim
