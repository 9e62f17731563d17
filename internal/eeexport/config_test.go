package eeexport_test

import (
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

func TestDBParamsNeverShowPassword(t *testing.T) {
	p := eeexport.DBParams{Host: "db.internal", User: "every_election", Name: "every_election", Password: "hunter2-secret"}
	for name, s := range map[string]string{
		"String":   p.String(),
		"LogValue": p.LogValue().String(),
	} {
		if strings.Contains(s, p.Password) {
			t.Errorf("%s = %q contains the password", name, s)
		}
		if !strings.Contains(s, "db.internal") {
			t.Errorf("%s = %q does not name the host", name, s)
		}
	}
}
