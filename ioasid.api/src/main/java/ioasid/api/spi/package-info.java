/**
 * What plugins implement: custom IOASID allocators and IOASID listeners, both registered as
 * whiteboard services.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.api.spi;
