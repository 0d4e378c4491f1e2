// Package pterodactyl is upsell's resource adapter for the Pterodactyl Panel
// (1.11.x) and its fork Pelican. It reads and sets the build limits of one
// game server through the panel's Application API and implements
// hostapi.Adapter.
//
// The API's build endpoint (PATCH /api/application/servers/{id}/build) is a
// full replace: every limit and all three feature limits are overwritten on
// each call, and a missing feature limit is stored as null or 0. Apply is
// therefore a read-modify-write, serialized per server inside the process: it
// GETs the server, copies every current value into the PATCH body, changes
// only the resources of the target, and verifies the target in the PATCH
// reply (which is the full server, so it needs no second GET). An apply that
// adds no ports costs exactly two requests; an apply whose target is already
// in place costs one.
//
// Ports are the server's allocations, the primary included. Raising them
// picks free allocations on the server's node (same IP as the primary first)
// and attaches them with add_allocations. The panel skips an allocation that
// someone else took meanwhile without an error, so the reply is checked and
// other ports are tried. Lowering ports is refused: detaching ports from a
// running game server is not something to do behind an admin's back.
//
// Flavor: Pelican is selected by ServerRef.Options["flavor"] = "pelican", or
// by a Pelican application key (papp_ or the older peli_ prefix). It differs
// in the OOM field (oom_killer), in io's range, and in one trap: a failing
// Wings sync turns into a 500 after the change was committed, so a 5xx from
// the build endpoint is treated as "maybe applied" and checked with a GET
// before anything is sent again.
//
// HTTP: one go-retryablehttp client per Adapter, never following redirects
// (a 302 means the request was not taken as an API call), retrying 5xx and
// network errors of reads with jittered exponential backoff, honouring
// Retry-After on 429, and pacing requests per endpoint with a token bucket
// that keeps a backlog under the panel's 240 requests per minute. The API key
// never appears in an error or a log line.
//
// Settings (plugins.adapters.pterodactyl in upsell's configuration) mirror
// the Options: request_timeout, retry_max, retry_wait_min, retry_wait_max,
// max_retry_after, rate_limit_per_minute, port_attempts and
// allocations_per_page.
package pterodactyl
