// Package hostapi is the contract between the upsell host and its plugins.
//
// Two kinds of plugin run as hashicorp/go-plugin gRPC subprocesses:
//
//   - a Module holds the business logic of one feature (Micro-Upsell,
//     configurable options). The host routes HTTP requests and paid-invoice
//     events to it.
//   - an Adapter translates "this server should have these limits" into one
//     provisioning API (Pterodactyl, Pelican, ...). It receives absolute
//     targets, never deltas, so a retry or a replay cannot add twice.
//
// Both are written against the hand-written Go interfaces and domain types of
// this package; the wire types generated from proto/upsell/hostapi/v1 stay in
// an internal package, so the wire format can change without breaking plugin
// authors. A plugin's main is one call: ServeModule or ServeAdapter.
//
// Every plugin instance gets its own host API (the Host struct: Panel,
// Provision, Audit, Store) over one brokered gRPC server, dialled once when the
// plugin is configured. Because each plugin has its own server, the host knows
// which plugin is calling and scopes what it may touch.
//
// Errors cross the wire typed: an *Error with a Code (not found, conflict,
// capacity, unavailable, invalid, ...) comes out on the other side as an
// *Error with the same Code, so errors.Is(err, ErrNotFound) works in both
// directions.
//
// Versioning: the major version is in the proto package name
// (upsell.hostapi.v1) and in Handshake.ProtocolVersion. Minor versions only add
// fields and RPCs; a peer answering codes.Unimplemented lacks the feature.
package hostapi
