// Package service is the façade every door into skilldock goes through: the
// CLI and the HTTP API call these methods and hold no business logic of their
// own. Each method reads like the command it serves (Build, ListBuilds,
// DeleteBuilds, Tag, Inspect, GC, Fsck, Validate). It composes the skill,
// pack, artifact and store packages; it does not parse flags or print.
package service
