// Package archtest checks the import rules of ARCHITECTURE.md ("Who may
// import whom") over the whole repository: what a module may import, that
// the contract (hostapi) imports nothing of upsell but itself, that the
// browser test kit stays in tests, and that the serve path carries neither
// the embedded database nor the Pterodactyl double. It has only tests; this
// file exists for the package comment.
package archtest
