package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// mskIAM is AWS_MSK_IAM (Amazon MSK's IAM access control) with kafka-go's
// aws_msk_iam_v2 signer and credentials from the AWS SDK's default chain:
// environment, shared files, IRSA web identity, EKS Pod Identity, ECS and
// EC2 roles. The chain is the scaler's own, not the workload's. It is
// loaded when the first broker connection authenticates, never at parse,
// and cached once loaded; the SDK refreshes the credentials it yields.
type mskIAM struct {
	region string
	now    func() time.Time
	signer *v4.Signer

	mu    sync.Mutex
	creds aws.CredentialsProvider
}

var _ sasl.Mechanism = (*mskIAM)(nil)

// parseMSK reads awsRegion, KEDA's key for it. MSK serves IAM
// authentication on TLS listeners only, and the signed payload must not
// cross the network in the clear, so tls must be enable.
func parseMSK(md metadata.Metadata, user, pass string, tlsOn bool) (*mskIAM, []string, error) {
	if user != "" || pass != "" {
		return nil, nil, metadata.Invalid("sasl", "aws_msk_iam",
			"username and password are not used: the credentials come from the AWS default chain (IRSA, Pod Identity, environment)")
	}
	if !tlsOn {
		return nil, nil, metadata.Invalid("tls", "disable", "sasl aws_msk_iam needs tls: enable (MSK serves IAM authentication over TLS only)")
	}
	region := md.String("awsRegion", "")
	if region == "" {
		return nil, nil, &metadata.ConfigError{Key: "awsRegion", Reason: "is required when sasl is aws_msk_iam"}
	}
	if !isAWSRegion(region) {
		return nil, nil, metadata.Invalid("awsRegion", region, "not an AWS region name such as us-east-1")
	}
	m := &mskIAM{region: region, now: time.Now, signer: v4.NewSigner()}
	return m, []string{region}, nil
}

// isAWSRegion: lower-case words joined by '-', the last a number
// (us-east-1, us-gov-west-1, eu-central-2).
func isAWSRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(s) > 32 || len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		lettersOnly := strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") == ""
		digitsOnly := strings.Trim(p, "0123456789") == ""
		if p == "" || (i < len(parts)-1 && !lettersOnly) || (i == len(parts)-1 && !digitsOnly) {
			return false
		}
	}
	return true
}

// loadAWSCredentials loads the default configuration; it reads the
// environment and shared files only. The chain's providers fetch (IMDS,
// STS) when first asked for credentials.
func loadAWSCredentials(ctx context.Context, region string) (aws.CredentialsProvider, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, err
	}
	if cfg.Credentials == nil {
		return nil, errors.New("the default chain has no credentials provider")
	}
	return cfg.Credentials, nil
}

// Name is the mechanism's name in the SaslHandshake.
func (m *mskIAM) Name() string { return "AWS_MSK_IAM" }

// Start signs one connection's payload for the broker it authenticates to.
func (m *mskIAM) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl AWS_MSK_IAM: loading the AWS configuration: %w", err)
	}
	signer := &aws_msk_iam_v2.Mechanism{Signer: m.signer, Credentials: creds, Region: m.region, SignTime: m.now()}
	sess, ir, err := signer.Start(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl AWS_MSK_IAM (region %s): %w", m.region, err)
	}
	return sess, ir, nil
}

// credentials loads the chain once; a failed load is tried again on the
// next connection.
func (m *mskIAM) credentials(ctx context.Context) (aws.CredentialsProvider, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.creds == nil {
		creds, err := loadAWSCredentials(ctx, m.region)
		if err != nil {
			return nil, err
		}
		m.creds = creds
	}
	return m.creds, nil
}
