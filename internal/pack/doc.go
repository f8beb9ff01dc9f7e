// Package pack turns a validated skill folder into the artifact the format
// fixes (one tar+gzip layer, a config and a manifest per platform, an index)
// and writes its blobs through a store session. It streams: memory use does
// not grow with the skill's size. It does not tag anything; the caller
// decides names.
package pack
