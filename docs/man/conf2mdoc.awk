# SPDX-License-Identifier: BSD-2-Clause
#
# docs/man/conf2mdoc.awk - the KEYS section of bulwark.conf(5) from the
# output of `bulwarkd -n -v`: "[section]" headings (a module's preceded by
# "# MODULE VERSION: description"), "# help" lines and "key = default"
# lines become an mdoc subsection per section with a tagged list of keys.
# -v moduledir=DIR prints DIR as daemon.module_dir's default (the build
# runs bulwarkd on the modules of the build tree).

function esc(s) {
	gsub(/\\/, "\\e", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}
function quote(s) {	# a double quote inside a quoted macro argument
	gsub(/"/, "\"\"", s)
	return s
}
function close_list() {
	if (open)
		print ".El"
	else if (section != "")
		print ".Pp\nNo keys of its own besides\n.Cm required ."
	open = 0
}

/^# [a-z0-9_-]+ [0-9]+\.[0-9]+: / {
	desc = $0
	sub(/^# [^:]*: /, "", desc)
	next
}
/^\[.*\]$/ {
	close_list()
	section = substr($0, 2, length($0) - 2)
	print ".Ss \\&[" section "]"
	if (desc != "")
		print esc(desc) (desc ~ /[.)]$/ ? "" : ".")
	desc = ""
	help = ""
	next
}
/^# / {
	help = help (help == "" ? "" : " ") substr($0, 3)
	next
}
/^[a-z0-9_-]+ =/ {
	key = $1
	value = $0
	sub(/^[^=]*= ?/, "", value)
	if (section == "daemon" && key == "module_dir" && moduledir != "")
		value = moduledir
	if (key == "required") {	# every module section's; DESCRIPTION says it
		help = ""
		next
	}
	if (!open)
		print ".Bl -tag -width Ds"
	open = 1
	if (value == "")
		print ".It Cm " key " No = Pq empty"
	else
		print ".It Cm " key " No = Li " "\"" quote(esc(value)) "\""
	print (help == "" ? "(no description)" : esc(help))
	help = ""
	next
}
END {
	close_list()
}
