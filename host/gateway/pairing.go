package gateway

import (
	"sync"
	"time"
)

// maxTrackedStrangers bounds how many users' wrong pairing codes are remembered at once.
const maxTrackedStrangers = 4096

// pairingFailures remembers each user's wrong pairing codes of the last PairingWindow, so that
// MaxPairingFailures of them stop that user's attempts. It is bounded by construction: at most
// maxTrackedStrangers users, each with at most MaxPairingFailures times, and a user whose
// failures have all aged out is forgotten. When it is full of users with recent failures, a user
// it does not know is refused as well — it fails closed, so a flood of accounts cannot make room
// for guesses nobody counts — until the window frees room.
type pairingFailures struct {
	mu    sync.Mutex
	users map[string][]time.Time // oldest first
}

// attempt reports whether user may try a code now, and if so counts the try as a failure until
// forget says it was right: the check and the count are one step, so codes sent at once (some
// adapters hand over messages concurrently) cannot all pass the check before any is counted.
func (f *pairingFailures) attempt(user string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.recentLocked(user, now)
	if len(recent) >= MaxPairingFailures || len(recent) == 0 && !f.roomLocked(now) {
		return false
	}
	if f.users == nil {
		f.users = map[string][]time.Time{}
	}
	f.users[user] = append(recent, now)
	return true
}

// forget drops user's failures: their code was right.
func (f *pairingFailures) forget(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, user)
}

// recentLocked returns user's failures still inside the window, forgetting the older ones.
func (f *pairingFailures) recentLocked(user string, now time.Time) []time.Time {
	times := f.users[user]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= PairingWindow {
		i++
	}
	if i == len(times) {
		delete(f.users, user)
		return nil
	}
	return times[i:]
}

// roomLocked reports whether one more user can be remembered, forgetting every user whose
// failures have aged out when the table is full.
func (f *pairingFailures) roomLocked(now time.Time) bool {
	if len(f.users) < maxTrackedStrangers {
		return true
	}
	for user, times := range f.users {
		if now.Sub(times[len(times)-1]) >= PairingWindow {
			delete(f.users, user)
		}
	}
	return len(f.users) < maxTrackedStrangers
}
