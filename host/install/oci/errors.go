package oci

import (
	"errors"
	"strings"
	"unicode"
)

// The kinds of failure a caller may want to tell apart, for instance to choose an exit code. Test
// for them with errors.Is; every error of this package is an *Error that carries one of them or
// none.
var (
	// ErrBadReference: the reference does not parse, or does not fit the operation (publishing
	// to a digest, say).
	ErrBadReference = errors.New("bad OCI reference")
	// ErrUnreachable: no connection to the registry could be made, or TLS failed.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrUnauthorized: the registry asked for credentials, or refused the ones given.
	ErrUnauthorized = errors.New("registry refused access")
	// ErrNotFound: the repository, tag or digest is not in the registry.
	ErrNotFound = errors.New("not found in registry")
	// ErrNotPlugin: the manifest is not a hermes plugin artifact of a layout this version reads.
	ErrNotPlugin = errors.New("not a hermes plugin artifact")
	// ErrTooLarge: a manifest or blob is over its limit (Options.MaxBytes, or 4 MiB for a
	// manifest).
	ErrTooLarge = errors.New("artifact too large")
	// ErrDigestMismatch: the registry sent bytes whose digest or size is not the one they were
	// asked for by, so they were thrown away.
	ErrDigestMismatch = errors.New("content does not match its digest")
)

// Error is the error every function of this package returns. It reads as one line:
//
//	oci://127.0.0.1:5000/acme/weather:1.2.0: registry 127.0.0.1:5000 unreachable: dial tcp …: connection refused (is it running?)
//
// Ref never holds credentials: references cannot carry them, and ParseReference masks any it is
// handed.
type Error struct {
	Ref  string // the reference worked on, as "oci://…"
	Kind error  // one of the Err* values above, or nil when none fits
	Msg  string // what failed
	Err  error  // the cause, or nil
	Note string // in parentheses at the end: what to do, or the detail that decided; or ""
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Ref != "" {
		b.WriteString(e.Ref)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		// Registries' error bodies may span lines; the promise is one line.
		b.WriteString(oneLine(e.Err.Error()))
	}
	if e.Note != "" {
		b.WriteString(" (")
		b.WriteString(e.Note)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause, so errors.Is works for ErrNotFound as well as for
// context.Canceled.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// oneLine folds line breaks and other control characters into single spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == ' ' }), " ")
}
