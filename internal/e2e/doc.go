// Package e2e holds end-to-end tests of the daemon: real MariaDB (or the
// embedded engine) with Paymenter's tables, real plugin subprocesses, the
// Pterodactyl double and real HTTP on loopback. It has no non-test code.
package e2e
