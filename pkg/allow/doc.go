// Package allow owns the operator's upstream allow-list: which hosts and
// ports triggers may make the scaler connect to, per source. Tenants write
// the addresses in trigger metadata; the list is checked when a trigger is
// parsed (names and IP literals) and again on every connection (the IP a
// name resolved to, and every broker or node an upstream announces).
//
// It is a leaf: it imports only the standard library.
package allow
