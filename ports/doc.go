// Package ports defines what the IMAP core needs from the world, in domain
// terms: Transport (connections), Store (mailboxes and messages), Auth (who
// may log in) and Telemetry (protocol logs and events). Adapters implement
// these interfaces; the app uses nothing else. It imports only domain
// packages and the standard library.
package ports
