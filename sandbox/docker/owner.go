package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// owner identifies a process across pid reuse: its pid, host name and start time.
type owner struct {
	PID   int
	Host  string
	Start string // opaque, "" when the platform cannot tell (then only the pid is compared)
}

// self is this process as an owner.
func self() owner {
	host, _ := os.Hostname()
	start, _ := processStart(os.Getpid())
	return owner{PID: os.Getpid(), Host: host, Start: start}
}

// String is the form written to adoptionFile: "pid host start".
func (o owner) String() string {
	return fmt.Sprintf("%d %s %s", o.PID, o.Host, o.Start)
}

func parseOwner(s string) (owner, bool) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return owner{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return owner{}, false
	}
	o := owner{PID: pid, Host: f[1]}
	if len(f) > 2 {
		o.Start = f[2]
	}
	return o, true
}

// ownerFromLabels reads the owner a container was made by.
func ownerFromLabels(labels map[string]string) (owner, bool) {
	pid, err := strconv.Atoi(labels[labelOwnerPID])
	if err != nil || pid <= 0 || labels[labelOwnerHost] == "" {
		return owner{}, false
	}
	return owner{PID: pid, Host: labels[labelOwnerHost], Start: labels[labelOwnerStart]}, true
}

// liveness says whether o is a process running now, as far as this host can tell.
type liveness int

const (
	unknown liveness = iota // another host, or a platform that cannot tell: leave it alone
	alive
	gone
)

func (o owner) liveness(here owner) liveness {
	if o.Host != here.Host {
		return unknown
	}
	start, ok := processStart(o.PID)
	switch {
	case !ok:
		return gone
	case start == "" || o.Start == "":
		if o.Start == "" && start != "" {
			return unknown // labelled without a start time: cannot tell pid reuse apart
		}
		return alive
	case start != o.Start:
		return gone // the pid was reused
	}
	return alive
}
