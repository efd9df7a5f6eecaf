/**
 * Helpers for tests running inside an OSGi framework with the platform: waiting for it and its
 * backends ({@link ioasid.testkit.osgi.IoasidPlatform}), configuring backends and host spaces
 * through Config Admin with the property names of their Metatype ({@link
 * ioasid.testkit.osgi.Configs}), swapping bundles, recording IOASID and Event Admin events in
 * order ({@link ioasid.testkit.osgi.IoasidEvents}, {@link ioasid.testkit.osgi.TopicEvents}),
 * building small allocator and listener bundles at test time ({@link
 * ioasid.testkit.osgi.TinyBundles}) and running console scripts ({@link
 * ioasid.testkit.osgi.Shell}).
 *
 * <p>They depend on the OSGi core and Config Admin APIs, on the Event Admin API for {@link
 * ioasid.testkit.osgi.TopicEvents} and on the Gogo runtime for {@link ioasid.testkit.osgi.Shell}
 * only, and on no test framework: a failed expectation is an {@link java.lang.AssertionError}.
 * They work the same under Pax Exam and any other in-framework runner.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.testkit.osgi;
