package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// pageNames are the page templates; each is parsed together with the layout.
var pageNames = []string{"signin", "error", "queue", "command", "devices", "integrations", "test", "health", "users", "audit", "account", "faults", "requests", "agents"}

// timeView is what the "time" template receives: a time, now, and the zone
// to show it in ("" = the browser's).
type timeView struct {
	T, Now time.Time
	Zone   string
}

var funcs = template.FuncMap{
	"short": shortID,
	"wrap":  wrapAt,
	"can":   func(r bellhop.Role, min string) bool { return r.Allows(bellhop.Role(min)) },
	"tm": func(t, now time.Time, zone ...string) timeView {
		v := timeView{T: t, Now: now}
		if len(zone) > 0 {
			v.Zone = zone[0]
		}
		return v
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// parseTime reads a time the Data carries as text; zero (shown as —)
	// when it is not one.
	"parseTime": func(s string) time.Time { t, _ := bellhop.ParseTime(s); return t },
	"full":      func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC") },
	"clock":     clock,
	"ago":       ago,
	"pct": func(p *float64) int {
		if p == nil {
			return 0
		}
		return int(*p*100 + 0.5)
	},
	"lower": func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
	"deref": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"deref64": func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	},
	"join":  strings.Join,
	"money": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"ms":    ms,
	"stateHint": func(s bellhop.State) string {
		return map[bellhop.State]string{
			bellhop.Pending:    "waiting for an integration to read it",
			bellhop.Received:   "read by an integration, not started",
			bellhop.Processing: "the device is working on it",
			bellhop.Processed:  "done",
			bellhop.Cancelled:  "cancelled, will not run",
			bellhop.Failed:     "failed; see the notes",
		}[s]
	},
}

// wrapAt escapes s and lets it break after the characters that separate the
// parts of URLs, ids and paths (/ . - _ ? & = , :), so that a long value
// wraps at a sensible point instead of one character per line or past the
// edge of a phone.
func wrapAt(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if strings.ContainsRune("/.-_?&=,:", r) {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

// clock shows a time compactly: the time of day when it is today, else the
// date too, in UTC. The script shows it again in the browser's zone, with
// the same rule (console.js, localize); the title keeps the UTC time.
func clock(t, now time.Time) string {
	t = t.UTC()
	if t.Format("2006-01-02") == now.UTC().Format("2006-01-02") {
		return t.Format("15:04:05")
	}
	if t.Year() == now.Year() {
		return t.Format("2 Jan 15:04")
	}
	return t.Format("2 Jan 2006")
}

// ago is a rough age for a glance ("5 min ago").
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// parsePages parses every page with the layout. A broken template is a
// programming error, found by any test, so it panics.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		pages[name] = t
	}
	return pages
}
