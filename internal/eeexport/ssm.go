package eeexport

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/jackc/pgx/v5"
)

// SSMAPI is the part of the SSM client an export uses.
type SSMAPI interface {
	GetParameters(ctx context.Context, params *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

var _ SSMAPI = (*ssm.Client)(nil)

// DBParams are the database connection details read from SSM. Its String
// and LogValue methods leave out the password, so it is safe to log.
type DBParams struct {
	Host     string
	User     string
	Name     string
	Password string
}

// String describes p without the password.
func (p DBParams) String() string {
	return fmt.Sprintf("host=%s user=%s dbname=%s password=[redacted]", p.Host, p.User, p.Name)
}

// LogValue implements slog.LogValuer without the password.
func (p DBParams) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", p.Host),
		slog.String("user", p.User),
		slog.String("dbname", p.Name),
	)
}

// loadDBParams reads the four connection parameters in one GetParameters
// call (WithDecryption, for the SecureString password). A missing or empty
// parameter is an error that names it; values never appear in errors.
func loadDBParams(ctx context.Context, api SSMAPI, c DB) (DBParams, error) {
	names := []string{c.HostParam, c.UserParam, c.NameParam, c.PasswordParam}
	out, err := api.GetParameters(ctx, &ssm.GetParametersInput{
		Names:          uniq(names),
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		return DBParams{}, fmt.Errorf("ssm GetParameters %s: %w", strings.Join(uniq(names), ","), err)
	}
	if len(out.InvalidParameters) > 0 {
		return DBParams{}, fmt.Errorf("ssm GetParameters: parameters not found: %s", strings.Join(out.InvalidParameters, ","))
	}
	values := make(map[string]string, len(out.Parameters))
	for _, p := range out.Parameters {
		values[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	get := func(env, name string) (string, error) {
		v, ok := values[name]
		if !ok {
			return "", fmt.Errorf("ssm GetParameters: parameter %s (from env %s) missing from the response", name, env)
		}
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("ssm parameter %s (from env %s) is empty", name, env)
		}
		return v, nil
	}
	var p DBParams
	for _, f := range []struct {
		env, name string
		dst       *string
	}{
		{"DB_HOST_PARAM", c.HostParam, &p.Host},
		{"DB_USER_PARAM", c.UserParam, &p.User},
		{"DB_NAME_PARAM", c.NameParam, &p.Name},
		{"DB_PASSWORD_PARAM", c.PasswordParam, &p.Password},
	} {
		v, err := get(f.env, f.name)
		if err != nil {
			return DBParams{}, err
		}
		*f.dst = v
	}
	p.Host = strings.TrimSpace(p.Host)
	return p, nil
}

const connectTimeout = 30 * time.Second

// connConfig builds the pgx config. The password is set on the parsed
// config, never put into a connection string, so no DSN that could be
// logged or wrapped into an error ever contains it.
func connConfig(p DBParams, port int, sslmode, appName string) (*pgx.ConnConfig, error) {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(p.User),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(port)),
		Path:     "/" + p.Name,
		RawQuery: url.Values{"sslmode": {sslmode}, "application_name": {appName}}.Encode(),
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database config for %s: %w", p, err)
	}
	cfg.Password = p.Password
	// An unreachable database (wrong VPC or security group) should fail
	// fast with a clear error, not run into the Lambda timeout.
	cfg.ConnectTimeout = connectTimeout
	return cfg, nil
}

func uniq(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
