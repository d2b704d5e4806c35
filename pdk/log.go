package pdk

import (
	"fmt"
	"strings"
)

// Debug, Info, Warn and Error write one structured log line to the job's
// logs: the message followed by key=value pairs, as in log/slog.
//
//	pdk.Info("fetched rows", "count", n, "table", name)
func Debug(msg string, kv ...any) { hostLogLine(LevelDebug, format(msg, kv)) }

// Info logs at info level; see [Debug].
func Info(msg string, kv ...any) { hostLogLine(LevelInfo, format(msg, kv)) }

// Warn logs at warn level; see [Debug].
func Warn(msg string, kv ...any) { hostLogLine(LevelWarn, format(msg, kv)) }

// Error logs at error level; see [Debug].
func Error(msg string, kv ...any) { hostLogLine(LevelError, format(msg, kv)) }

func format(msg string, kv []any) string {
	if len(kv) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i < len(kv); i += 2 {
		b.WriteByte(' ')
		if i+1 == len(kv) {
			fmt.Fprintf(&b, "!BADKEY=%v", kv[i])
			break
		}
		v := fmt.Sprint(kv[i+1])
		if strings.ContainsAny(v, " \t\n\"=") {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, "%v=%s", kv[i], v)
	}
	return b.String()
}
