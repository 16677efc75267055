# What `cmake --install` puts where, and the Debian package CPack makes of
# it (scripts/package.sh). Paths are Debian 12's: the binary under /usr, the
# units in /lib/systemd/system, configuration in /etc.
#
# Installing does not build: `make install` and cpack take what the build
# made. The package needs only the binary and the man page
# (scripts/package.sh builds those two targets), not the tests.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(authsvc_doc share/doc/authsvc)

install(TARGETS authsvc RUNTIME DESTINATION bin)
install(FILES contrib/systemd/authsvc.service contrib/systemd/authsvc-guardian.service
              contrib/systemd/authsvc-web.service
        DESTINATION /lib/systemd/system)
install(FILES contrib/logrotate/authsvc DESTINATION /etc/logrotate.d)
install(FILES packaging/authsvc.toml DESTINATION /etc/authsvc)
install(FILES authsvc.toml.example rabbitmq.conf.example rules/pulse.rules
              contrib/grafana/authsvc-dashboard.json contrib/prometheus/authsvc-alerts.yml
        DESTINATION ${authsvc_doc}/examples)
install(FILES packaging/copyright DESTINATION ${authsvc_doc})

# The man page, from the CLI's own help: the top level's options by
# help2man, and every command's --help beneath (packaging/man_commands.sh).
# gzip -n: no name or time stamp in the header, so the package is the same
# from the same binary.
set(authsvc_man ${CMAKE_BINARY_DIR}/authsvc.1.gz)
add_custom_command(
  OUTPUT ${authsvc_man}
  COMMAND ${CMAKE_SOURCE_DIR}/packaging/man_commands.sh $<TARGET_FILE:authsvc> > authsvc.h2m
  COMMAND help2man --no-info --section=1
          "--name=RabbitMQ HTTP auth backend enforcing the Pulse security model"
          --include=authsvc.h2m --output=authsvc.1 $<TARGET_FILE:authsvc>
  COMMAND gzip -9nf authsvc.1
  DEPENDS authsvc ${CMAKE_SOURCE_DIR}/packaging/man_commands.sh
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  VERBATIM)
add_custom_target(authsvc_manpage DEPENDS ${authsvc_man})
install(FILES ${authsvc_man} DESTINATION share/man/man1)

# Debian's changelog, compressed as Debian's tools do; its version must be
# the project's.
file(STRINGS packaging/changelog changelog_head LIMIT_COUNT 1)
if(NOT changelog_head MATCHES "^authsvc \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog's first entry is not version ${PROJECT_VERSION}: "
                      "${changelog_head}")
endif()
set(authsvc_changelog ${CMAKE_BINARY_DIR}/changelog.gz)
add_custom_command(
  OUTPUT ${authsvc_changelog}
  COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/packaging/changelog > ${authsvc_changelog}
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/changelog
  VERBATIM)
add_custom_target(authsvc_changelog DEPENDS ${authsvc_changelog})
add_dependencies(authsvc_manpage authsvc_changelog)
install(FILES ${authsvc_changelog} DESTINATION ${authsvc_doc})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME authsvc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER
    "authsvc maintainers <maintainers@users.noreply.r-seed-901b47f4.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "RabbitMQ HTTP auth backend enforcing the Pulse security model")
# The synopsis is the summary above; CPack indents each line of this, and
# turns an empty line into Debian's " ." paragraph break.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "authsvc answers the rabbitmq_auth_backend_http plugin of a stock RabbitMQ:
every client has its own account and may create, publish to and consume
from only what is under its own name, as on Mozilla's Pulse.

The package holds the service (authsvc serve), the guardian that enforces
queue limits and closes revoked users' connections, the self-service web
UI with OpenID Connect sign-in, their systemd units, the command-line
tool, a logrotate configuration, and example configuration.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://wiki.mozilla.org/Auto-tools/Projects/Pulse")
# The libraries by dpkg-shlibdeps; passwd for the user postinst creates;
# procps for the units' ExecReload=/bin/kill (not essential: minimal
# systems and containers lack it).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rabbitmq-server, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
