package asl

// LambdaInvokeResource is the optimised Lambda service integration.
const LambdaInvokeResource = "arn:aws:states:::lambda:invoke"

// SNSPublishResource is the SNS Publish service integration.
const SNSPublishResource = "arn:aws:states:::sns:publish"

// TransientLambdaErrors are the Lambda service errors worth retrying: the
// function never ran, or was throttled, so running it again is safe for an
// idempotent function.
var TransientLambdaErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.TooManyRequestsException",
}

// LambdaRetry retries TransientLambdaErrors with exponential backoff and full
// jitter: 2 s, 4 s, 8 s ... capped at 60 s, 6 attempts.
func LambdaRetry() Retrier {
	return Retrier{
		ErrorEquals:     append([]string(nil), TransientLambdaErrors...),
		IntervalSeconds: 2,
		MaxAttempts:     6,
		BackoffRate:     2,
		MaxDelaySeconds: 60,
		JitterStrategy:  "FULL",
	}
}

// LambdaTask invokes fnArn with payload (keys ending in ".$" are paths) and
// keeps only the function's response payload: the state's result is
// {"Payload": <response>}. It retries transient Lambda errors. Set
// ResultPath, Next/End and Catch on the returned value.
func LambdaTask(fnArn string, payload map[string]any) Task {
	if payload == nil {
		payload = map[string]any{}
	}
	return Task{
		Resource:       LambdaInvokeResource,
		Parameters:     map[string]any{"FunctionName": fnArn, "Payload": payload},
		ResultSelector: map[string]any{"Payload.$": "$.Payload"},
		Retry:          []Retrier{LambdaRetry()},
	}
}
