package dashboard

import (
	"bytes"
	"fmt"
	"html/template"

	"github.com/hermes-agent/hermes/store"
)

// chartSVG draws activity per day as bars (refused uses in red on top of the rest), on the
// server: no script, and nothing from a plugin reaches it but counts and dates (escaped).
func chartSVG(days []store.ActivityDay) []byte {
	const w, h, pad, top = 720, 200, 30, 10
	if len(days) > 60 {
		days = days[len(days)-60:]
	}
	most := 1
	for _, d := range days {
		most = max(most, d.Total)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="capability uses per day">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, h)
	plotH := h - pad - top
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, pad, h-pad, w-5, h-pad)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="11" font-family="sans-serif" fill="#555">%d</text>`, top+10, most)
	if len(days) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-family="sans-serif" fill="#555">no activity recorded yet</text>`, w/2-80, h/2)
	}
	slot := float64(w-pad-10) / float64(max(len(days), 1))
	for i, d := range days {
		x := float64(pad) + float64(i)*slot + 2
		bw := max(slot-4, 1)
		total := float64(d.Total) / float64(most) * float64(plotH)
		refused := float64(d.Refused) / float64(most) * float64(plotH)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a7bd0"><title>%s: %d uses, %d refused</title></rect>`,
			x, float64(h-pad)-total, bw, total, template.HTMLEscapeString(d.Day), d.Total, d.Refused)
		if d.Refused > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c0392b"/>`, x, float64(h-pad)-total, bw, refused)
		}
		if len(days) <= 14 || i%(len(days)/7+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" font-family="sans-serif" fill="#555">%s</text>`, x, h-pad+14, template.HTMLEscapeString(d.Day[min(5, len(d.Day)):]))
		}
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
