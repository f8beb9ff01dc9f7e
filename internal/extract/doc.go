// Package extract unpacks a skill layer from a registry into an empty folder,
// treating it as hostile: it refuses absolute paths, "..", links, devices,
// fifos, sparse files, duplicate or case-colliding names, NUL and backslash
// in names, and anything past the caps on file and folder counts, sizes and
// compression ratio. It writes only regular files and folders it creates
// itself, never through an existing symlink. Where the folder goes afterwards
// is the install package's concern.
package extract
