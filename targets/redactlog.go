package targets

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler returns h with every record's message and attribute values
// passed through r first: strings, errors (as their text) and anything
// else that prints a secret (as its text, then), in groups too. A log line
// a connector writes about a failure (an error that quotes an upstream
// body, a URL, a DSN) then leaves no secret r knows, wherever it was
// written. Attributes bound with WithAttrs are redacted once, with the
// secrets known then. A nil r returns h.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	if r == nil {
		return h
	}
	return redactingHandler{h: h, r: r}
}

type redactingHandler struct {
	h slog.Handler
	r *Redactor
}

func (x redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return x.h.Enabled(ctx, l)
}

func (x redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, x.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(x.attr(a))
		return true
	})
	return x.h.Handle(ctx, out)
}

func (x redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return redactingHandler{h: x.h.WithAttrs(x.attrs(as)), r: x.r}
}

func (x redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{h: x.h.WithGroup(name), r: x.r}
}

func (x redactingHandler) attrs(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = x.attr(a)
	}
	return out
}

func (x redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, x.r.Redact(v.String()))
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(x.attrs(v.Group())...)}
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok {
			text = err.Error()
		} else {
			text = fmt.Sprint(v.Any())
		}
		// A value that prints no secret keeps its form (a JSON handler
		// writes a struct as an object).
		if red := x.r.Redact(text); red != text {
			return slog.String(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
