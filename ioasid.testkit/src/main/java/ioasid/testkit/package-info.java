/**
 * Helpers for tests of the platform and of plug-ins written for it. They depend on the API alone
 * and on no test framework: a failed expectation is an {@link java.lang.AssertionError}, which
 * JUnit 4, JUnit 5 and Pax Exam all report as a failure.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.testkit;
