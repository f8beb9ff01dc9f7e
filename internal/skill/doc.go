// Package skill owns what a skill is: the SKILL.md frontmatter, the rules of
// the Agent Skills specification, and which files of a skill folder belong to
// the skill (hidden files and .skillignore matches do not). It reads folders
// and SKILL.md text; it never writes, packs or installs anything.
package skill
