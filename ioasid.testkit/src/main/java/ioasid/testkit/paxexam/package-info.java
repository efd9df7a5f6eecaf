/**
 * Pax Exam 4 support: options that start the platform in Felix ({@link
 * ioasid.testkit.paxexam.IoasidOptions}) and a container factory that isolates each framework
 * start ({@link ioasid.testkit.paxexam.IsolatedContainerFactory}). Used outside the framework,
 * in a suite's {@code @Configuration} and annotations; what runs inside the framework is in
 * {@link ioasid.testkit.osgi}.
 *
 * <p>A project depends on {@code org.ioasid:ioasid.testkit.paxexam} (type {@code pom}, test
 * scope), which brings Pax Exam 4.14 (JUnit 4 API, native container, pax-url), Felix, the JUnit
 * vintage engine, and every bundle these options install, so that the local repository holds
 * them before a suite runs.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.testkit.paxexam;
