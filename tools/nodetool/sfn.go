package nodetool

import "encoding/json"

// SFNReport is what tools/sfn-local.mjs prints for one local execution
// (see that file for what each field holds).
type SFNReport struct {
	Status  string          `json:"status"`
	Error   string          `json:"error"`
	Cause   string          `json:"cause"`
	Output  json.RawMessage `json:"output"`
	Calls   []SFNCall       `json:"calls"`
	Entered []string        `json:"entered"`
	Retries []struct {
		State   string `json:"state"`
		Attempt int    `json:"attempt"`
	} `json:"retries"`
	SNS []struct {
		State    string `json:"state"`
		TopicArn string `json:"topicArn"`
		Subject  string `json:"subject"`
		Message  string `json:"message"`
	} `json:"sns"`
}

// SFNCall is one Lambda call of an SFNReport.
type SFNCall struct {
	State   string         `json:"state"`
	Role    string         `json:"role"`
	Payload map[string]any `json:"payload"`
	Error   string         `json:"error"`
	Message string         `json:"message"`
}
