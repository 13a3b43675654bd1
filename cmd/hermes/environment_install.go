package main

import (
	"github.com/hermes-agent/hermes/host/install"
)

// installer opens what installing plugins needs: the registry and the trusted keys in the
// store. Downloads and compilation report progress when stderr is a terminal.
func (e *environment) installer() (*install.Installer, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	db, err := e.store()
	if err != nil {
		return nil, err
	}
	return install.New(reg, db, e.paths, e.cfg).WithProgress(e.progress()), nil
}
