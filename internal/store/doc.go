// Package store owns the local OCI image layout that holds builds and the
// pull cache: blobs, index.json, tags and the local-build marker, and the
// locks that keep them correct when several processes share one store. It
// knows how OCI manifests reference each other (for garbage collection and
// fsck) but nothing about skills: packing and reading artifacts live elsewhere.
//
// Invariants: a blob file exists under blobs/ only once its bytes match its
// name; index.json is only ever replaced whole, by rename, under an exclusive
// lock, after re-reading it; a blob is deleted only by the collector, which
// runs while no writer session is open.
package store
