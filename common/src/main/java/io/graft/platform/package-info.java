/** The machine a job or benchmark runs on, described so that figures from different hosts are never compared blind. */
package io.graft.platform;
