// Package units formats and parses byte sizes the way the CLI shows and
// accepts them ("95MiB", "50 MB", "1024"). It knows nothing else.
package units
