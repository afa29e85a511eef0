package org.realmexport.common.storage.s3;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.IOException;

/**
 * S3 failures as an operator reads them: what was being done, on which object, and what to fix.
 * The SDK's own message is kept (it never holds the secret key); retries are already spent.
 */
final class S3Errors {
    private S3Errors() {
    }

    static IOException io(String action, String bucket, String key, SdkException e) {
        String where = "s3://" + bucket + "/" + key;
        String hint;
        if (e instanceof AwsServiceException service) {
            String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
            int status = service.statusCode();
            if ("NoSuchBucket".equals(code)) {
                hint = "the bucket '" + bucket + "' does not exist: create it or fix the output location";
            } else if (status == 403 || "AccessDenied".equals(code) || "InvalidAccessKeyId".equals(code)
                    || "SignatureDoesNotMatch".equals(code)) {
                hint = "access denied (" + code + "): check s3.access.key/s3.secret.key (or the SDK's credentials)"
                        + " and the bucket's policy";
            } else {
                hint = "S3 answered " + status + (code == null ? "" : " " + code);
            }
        } else if (e instanceof SdkClientException) {
            hint = "S3 could not be reached or did not answer in time (after retries): " + e.getMessage();
        } else {
            hint = e.getMessage();
        }
        return new IOException("cannot " + action + " " + where + ": " + hint, e);
    }
}
