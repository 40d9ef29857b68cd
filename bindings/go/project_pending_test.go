package worker

import "testing"

func runProjectCase(t *testing.T, e *Engine, dir string) []string {
	return []string{"needs the Project API"}
}
