// Package install puts an extracted skill where an agent reads it, and takes
// it away again, atomically: the skill is extracted into a staging folder
// beside the target, fsynced, then swapped into place with one rename (an
// exchange when a previous version is there), so an agent — or a crash —
// only ever sees the old version or the new one, whole. Every change is
// journalled in the records database first, so a run killed between the
// rename and the record is reconciled by the next one. It also checks
// installed folders for drift. Which agents and folders to use is decided by
// the caller (service, clients); this package only moves folders safely.
package install
