// Package awsfake provides an in-process fake for AWS services that speak the
// JSON 1.0/1.1 protocol (Athena, Glue, Step Functions). It routes requests on
// the X-Amz-Target header so that real aws-sdk-go-v2 clients can be pointed at
// it with BaseEndpoint, exercising the SDK's serialisation end to end.
package awsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region that Config uses.
const Region = "eu-west-2"

// Protocol content types.
const (
	JSON10 = "application/x-amz-json-1.0" // Step Functions
	JSON11 = "application/x-amz-json-1.1" // Athena, Glue
)

// HandlerFunc answers one operation. body is the raw JSON request. The
// returned value is marshalled as the JSON response; a non-nil error is sent as
// an AWS JSON-protocol error (use *APIError to choose the code and status).
type HandlerFunc func(body []byte) (any, error)

// APIError is a modelled AWS error, for example InvalidRequestException.
type APIError struct {
	Code    string // the __type, e.g. "EntityNotFoundException"
	Message string
	Status  int // HTTP status; 400 when zero
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Call is one request received by the server.
type Call struct {
	Target string // e.g. "AmazonAthena.ListNamedQueries"
	Body   []byte
	// InvocationID is the SDK's amz-sdk-invocation-id header: the same on
	// every attempt of one operation call.
	InvocationID string
}

// Server is an httptest server routing AWS JSON-protocol requests.
type Server struct {
	*httptest.Server

	contentType string
	mu          sync.Mutex
	routes      map[string]HandlerFunc
	calls       []Call
}

// Routes maps an X-Amz-Target value to its handler.
type Routes map[string]HandlerFunc

// New starts a server. contentType is the service's protocol content type,
// JSON11 (Athena, Glue) or JSON10 (Step Functions). Close it when done (tests: t.Cleanup(s.Close)).
func New(contentType string, routes Routes) *Server {
	s := &Server{contentType: contentType, routes: map[string]HandlerFunc{}}
	for k, v := range routes {
		s.routes[k] = v
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls returns the operations called so far for target ("" for all),
// each once however many attempts it took.
func (s *Server) Calls(target string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if target == "" || c.Target == target {
			out = append(out, c)
		}
	}
	return out
}

// Config returns an aws.Config with static credentials that sends every
// request to the server. Its retryer retries only connection errors, at
// once, as the SDK's standard retryer would (a loopback connection reset
// reads as "use of closed network connection"), so an API error the
// server returns reaches the caller on the first attempt, as a test of an
// error path expects.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, &APIError{Code: "SerializationException", Message: err.Error()})
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-") {
		s.writeError(w, &APIError{Code: "SerializationException", Message: fmt.Sprintf("unexpected %s with content type %q", r.Method, r.Header.Get("Content-Type"))})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.writeError(w, &APIError{Code: "MissingAuthenticationTokenException", Message: "request is not signed", Status: http.StatusForbidden})
		return
	}
	s.mu.Lock()
	// A retried attempt (Config's retryer retries a connection reset,
	// which a loaded machine's loopback sometimes gives) replaces the
	// attempt before it: Calls lists the operations the client made.
	c := Call{Target: target, Body: body, InvocationID: r.Header.Get("Amz-Sdk-Invocation-Id")}
	if i := slices.IndexFunc(s.calls, func(p Call) bool { return c.InvocationID != "" && p.InvocationID == c.InvocationID }); i >= 0 {
		s.calls[i] = c
	} else {
		s.calls = append(s.calls, c)
	}
	h, ok := s.routes[target]
	s.mu.Unlock()
	if !ok {
		s.writeError(w, &APIError{Code: "UnknownOperationException", Message: "no fake for " + target})
		return
	}
	out, err := h(body)
	if err != nil {
		s.writeError(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.writeError(w, &APIError{Code: "InternalServerException", Message: err.Error(), Status: http.StatusInternalServerError})
		return
	}
	w.Header().Set("Content-Type", s.contentType)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, err error) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		apiErr = &APIError{Code: "InternalServerException", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	status := apiErr.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("X-Amzn-Errortype", apiErr.Code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": apiErr.Code, "message": apiErr.Message})
	_, _ = w.Write(b)
}

// Decode unmarshals a request body into v, for use inside a HandlerFunc.
func Decode[T any](body []byte) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, &APIError{Code: "SerializationException", Message: err.Error()}
	}
	return v, nil
}

// Page returns the page of items that nextToken (a decimal offset, "" for
// the first page) selects, at most size long, and the token of the next
// page ("" after the last), as a List operation pages.
func Page[T any](items []T, nextToken string, size int) ([]T, string, error) {
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", &APIError{Code: "InvalidRequestException", Message: "bad NextToken " + nextToken}
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// OnItem answers an operation on one stored item, such as Athena's
// GetQueryExecution: it reads the item's ID from the request field key,
// finds it in items with mu held and returns fn's answer. An unknown ID is
// an InvalidRequestException "<kind> <id> was not found".
func OnItem[T any](mu *sync.Mutex, items map[string]T, key, kind string, fn func(id string, item T) any) HandlerFunc {
	return func(body []byte) (any, error) {
		in, err := Decode[map[string]any](body)
		if err != nil {
			return nil, err
		}
		id, _ := in[key].(string)
		mu.Lock()
		defer mu.Unlock()
		item, ok := items[id]
		if !ok {
			return nil, &APIError{Code: "InvalidRequestException", Message: kind + " " + id + " was not found"}
		}
		return fn(id, item), nil
	}
}

// BatchGet answers an Athena BatchGet operation (e.g. kind "QueryExecution",
// plural "QueryExecutions"): 1 to 50 IDs in <kind>Ids; each stored item is
// described by describe, with mu held, under plural; an unknown ID is listed
// under Unprocessed<kind>Ids.
func BatchGet[T, D any](mu *sync.Mutex, items map[string]T, kind, plural string, describe func(id string, item T) D) HandlerFunc {
	return func(body []byte) (any, error) {
		in, err := Decode[map[string][]string](body)
		if err != nil {
			return nil, err
		}
		ids := in[kind+"Ids"]
		if len(ids) < 1 || len(ids) > 50 {
			return nil, &APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("%sIds must hold 1 to 50 IDs, got %d", kind, len(ids))}
		}
		mu.Lock()
		defer mu.Unlock()
		found := []D{}
		unprocessed := []map[string]string{}
		for _, id := range ids {
			if item, ok := items[id]; ok {
				found = append(found, describe(id, item))
			} else {
				unprocessed = append(unprocessed, map[string]string{kind + "Id": id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": "not found"})
			}
		}
		return map[string]any{plural: found, "Unprocessed" + kind + "Ids": unprocessed}, nil
	}
}
