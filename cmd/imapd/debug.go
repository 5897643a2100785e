package main

import (
	"strconv"
	"strings"
)

// formatDebugCommand expands debug_command as Cyrus's
// sprintf(debug_command, argv0, pid, service) would for sane formats: each
// %s or %d takes the next of the three values in order, "%%" is a percent
// sign, and anything else (other conversions, conversions beyond the
// third) is copied as written. The text never reaches a real printf.
func formatDebugCommand(format, argv0 string, pid int, service string) string {
	vals := []string{argv0, strconv.Itoa(pid), service}
	var b strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		switch d := format[i+1]; {
		case d == '%':
			b.WriteByte('%')
			i++
		case (d == 's' || d == 'd') && next < len(vals):
			b.WriteString(vals[next])
			next++
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
