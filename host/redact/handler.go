package redact

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Handler is a slog.Handler that redacts the message and every string attribute before
// passing the record on. Its redactor can be set after the handler is installed: hermes sets up
// logging before it has read .env.
type Handler struct {
	next     slog.Handler
	redactor *atomic.Pointer[Redactor]
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler {
	return &Handler{next: next, redactor: new(atomic.Pointer[Redactor])}
}

// SetRedactor makes the handler (and those derived from it) use r from now on.
func (h *Handler) SetRedactor(r *Redactor) { h.redactor.Store(r) }

func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.redactor.Load()
	if r == nil || r.r == nil {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if r := h.redactor.Load(); r != nil {
		for i, a := range attrs {
			attrs[i] = r.attr(a)
		}
	}
	return &Handler{next: h.next.WithAttrs(attrs), redactor: h.redactor}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), redactor: h.redactor}
}

func (r *Redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]any, len(group))
		for i, g := range group {
			out[i] = r.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, r.String(err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
