package ballotexport_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"BUCKET":            "ee.data-cache.production",
		"DB_HOST_PARAM":     "/ee/host",
		"DB_USER_PARAM":     "/ee/user",
		"DB_NAME_PARAM":     "/ee/name",
		"DB_PASSWORD_PARAM": "/ee/password",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    ballotexport.Config
		wantErr []string
	}{
		{
			name: "defaults",
			env:  base,
			want: ballotexport.Config{
				Config: eeexport.Config{
					Bucket: "ee.data-cache.production", Key: "ballots-with-wkt/current_elections.csv",
					DB: eeexport.DB{HostParam: "/ee/host", UserParam: "/ee/user", NameParam: "/ee/name", PasswordParam: "/ee/password",
						Port: 5432, SSLMode: "prefer"},
				},
				LookbackDays: 30,
			},
		},
		{
			name: "overrides",
			env:  with("KEY", "x/y.csv", "LOOKBACK_DAYS", "0", "DB_PORT", "6543", "DB_SSLMODE", "require"),
			want: ballotexport.Config{
				Config: eeexport.Config{
					Bucket: "ee.data-cache.production", Key: "x/y.csv",
					DB: eeexport.DB{HostParam: "/ee/host", UserParam: "/ee/user", NameParam: "/ee/name", PasswordParam: "/ee/password",
						Port: 6543, SSLMode: "require"},
				},
				LookbackDays: 0,
			},
		},
		{
			name:    "every missing variable is named",
			env:     map[string]string{},
			wantErr: []string{"BUCKET is required", "DB_HOST_PARAM is required", "DB_USER_PARAM is required", "DB_NAME_PARAM is required", "DB_PASSWORD_PARAM is required"},
		},
		{
			name:    "bad values",
			env:     with("LOOKBACK_DAYS", "-1", "DB_PORT", "http", "DB_SSLMODE", "on", "KEY", "ballots/"),
			wantErr: []string{`LOOKBACK_DAYS "-1"`, `DB_PORT "http"`, `DB_SSLMODE "on"`, `KEY "ballots/"`},
		},
		{
			name:    "look-back too long",
			env:     with("LOOKBACK_DAYS", "100000"),
			wantErr: []string{`LOOKBACK_DAYS "100000" must be a whole number of days from 0 to 3660`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ballotexport.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ConfigFromEnv = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConfigFromEnv (-want +got):\n%s", diff)
			}
		})
	}
}
