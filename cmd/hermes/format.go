package main

import "github.com/hermes-agent/hermes/host/install"

// firstSentence shortens a description or message for a one-line listing.
func firstSentence(s string) string { return install.FirstSentence(s) }
