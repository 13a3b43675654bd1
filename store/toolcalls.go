package store

import (
	"context"
	"fmt"
	"regexp"
	"sync"
)

// DefaultToolCallLimit is how many sessions [DB.SessionsWithToolCall] returns when
// SessionFilter.Limit <= 0.
const DefaultToolCallLimit = 50

var argKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`) })

// SessionsWithToolCall returns the IDs of the sessions within the filter in which an assistant
// message called tool, most recently updated first. With argKey set, only calls whose JSON
// arguments have argKey equal to the string argValue count; arguments that are not valid JSON
// (stored verbatim) never match.
func (db *DB) SessionsWithToolCall(ctx context.Context, tool, argKey, argValue string, f SessionFilter) ([]string, error) {
	where, args, err := f.scope("s")
	if err != nil {
		return nil, fmt.Errorf("store: sessions calling %s: %w", tool, err)
	}
	if argKey != "" && !argKeyRE().MatchString(argKey) {
		return nil, fmt.Errorf("store: sessions calling %s: argument key %q is not a plain name", tool, argKey)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultToolCallLimit
	}
	cond := ""
	qargs := []any{tool}
	if argKey != "" {
		cond = ` AND CASE WHEN json_valid(json_extract(c.value, '$.arguments'))
			THEN json_extract(json_extract(c.value, '$.arguments'), '$.` + argKey + `') END = ?`
		qargs = append(qargs, argValue)
	}
	qargs = append(append(qargs, args...), limit)
	out, err := queryAll(ctx, db, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT s.id FROM sessions s WHERE EXISTS (
		SELECT 1 FROM messages m, json_each(m.tool_calls) c
		WHERE m.session_id = s.id AND m.role = 'assistant' AND m.tool_calls IS NOT NULL
			AND json_extract(c.value, '$.name') = ?`+cond+`)`+where+`
		ORDER BY s.updated_at DESC, s.id DESC LIMIT ?`, qargs...)
	if err != nil {
		return nil, fmt.Errorf("store: sessions calling %s: %w", tool, err)
	}
	return out, nil
}
