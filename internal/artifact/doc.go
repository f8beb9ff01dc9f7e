// Package artifact owns the shape of a skill as an OCI artifact: media types,
// the annotation and label keys shared with ToolHive, and the config that
// describes a skill. It reads artifacts from the local store back into a
// description; writing them is the pack package's job, moving them the
// remote package's.
package artifact
