// The one translation unit that compiles Asio (with its OpenSSL support) and Beast
// (BOOST_*_SEPARATE_COMPILATION), so that every other file that includes them only sees
// declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
